// The console's only script (the Content-Security-Policy allows no inline code).
"use strict";

// A policy chosen: its default actions ticked, its reason templates shown.
function picked(form) {
  const policy = form.querySelector("input[name=policy]:checked");
  if (!policy) return;
  const defaults = (policy.dataset.actions || "").split(",");
  for (const box of form.querySelectorAll("input[name=actions]")) box.checked = defaults.includes(box.value);
  form.querySelector("input[name=actions_for]").value = policy.value;  // the ticks are this policy's
  for (const t of form.querySelectorAll(".templates")) t.hidden = t.dataset.policy !== policy.value;
}

function countdowns() {
  for (const el of document.querySelectorAll(".countdown[data-deadline]")) {
    const left = (Date.parse(el.dataset.deadline) - Date.now()) / 60000;
    const h = Math.floor(Math.abs(left) / 60), m = Math.floor(Math.abs(left) % 60);
    el.textContent = (left < 0 ? "breached " : "") + `${h}h ${m}m` + (left < 0 ? " ago" : " left");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  countdowns();
  setInterval(countdowns, 30000);
  for (const img of document.querySelectorAll(".image.blurred")) {
    img.addEventListener("click", () => {
      img.classList.remove("blurred");
      img.setAttribute("aria-label", img.querySelector("img").alt);
    }, {once: true});
  }
  const form = document.getElementById("decide-form");
  const help = document.getElementById("shortcuts"), keysOn = document.getElementById("keys-on");
  const singleKeys = () => localStorage.getItem("cw-single-keys") !== "off";
  if (help) {
    keysOn.checked = singleKeys();
    keysOn.addEventListener("change", () => localStorage.setItem("cw-single-keys", keysOn.checked ? "on" : "off"));
    document.getElementById("shortcuts-help").addEventListener("click", () => help.showModal());
  }
  if (form) {
    form.addEventListener("change", (ev) => { if (ev.target.name === "policy") picked(form); });
    for (const b of form.querySelectorAll(".template")) {
      b.addEventListener("click", () => { document.getElementById("reason").value = b.dataset.template; });
    }
  }
  document.addEventListener("keydown", (ev) => {
    const typing = ev.target instanceof HTMLTextAreaElement || ev.target instanceof HTMLInputElement && !["radio", "checkbox"].includes(ev.target.type);
    // Ctrl+Enter decides from the decision's own fields (or the page), never from another form
    if (form && ev.ctrlKey && ev.key === "Enter" && (form.contains(ev.target) || ev.target === document.body)) { ev.preventDefault(); form.requestSubmit(); return; }
    if (typing && ev.key === "Escape") { ev.target.blur(); return; }  // back to the shortcuts
    if (typing || !singleKeys() || ev.ctrlKey || ev.altKey || ev.metaKey || help && help.open) return;
    if (help && ev.key === "?") { ev.preventDefault(); help.showModal(); return; }
    if (form && ev.key === "r") { ev.preventDefault(); document.getElementById("reason").focus(); return; }
    if (form && /^[0-9]$/.test(ev.key)) {
      const radio = form.querySelector(`input[name=policy][data-key="${ev.key}"]`);
      if (radio) { radio.checked = true; radio.focus(); picked(form); ev.preventDefault(); }
      return;
    }
    if (form && ev.key === "t") {  // the next reason template of the chosen policy
      const shown = [...form.querySelectorAll(".templates:not([hidden]) .template")];
      if (shown.length) {
        ev.preventDefault();
        const reason = document.getElementById("reason");
        const at = shown.findIndex((b) => b.dataset.template === reason.value);
        reason.value = shown[(at + 1) % shown.length].dataset.template;
      }
      return;
    }
    if (ev.key === "c") {
      const claim = document.querySelector("button.claim-next");
      if (claim) { ev.preventDefault(); claim.click(); }
    }
  });
});

// A page that shows a running job reloads itself every few seconds.
document.addEventListener("DOMContentLoaded", () => {
  const refresh = document.querySelector("[data-refresh]");
  if (refresh) setTimeout(() => location.reload(), Number(refresh.dataset.refresh) * 1000);
});
