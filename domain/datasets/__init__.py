"""Machine-learning validation sets from the team's decisions: what a set asks for (`query`),
each decision's final word and how it was reached (`labels`), the set itself, split without
leakage and pseudonymised (`build`), and a model's scores judged against it (`evaluate`)."""
