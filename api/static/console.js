// The console's only script (the Content-Security-Policy allows no inline code).
"use strict";

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
    img.addEventListener("click", () => img.classList.remove("blurred"));
  }
  const form = document.getElementById("decide-form");
  document.addEventListener("keydown", (ev) => {
    const typing = ev.target instanceof HTMLTextAreaElement || ev.target instanceof HTMLInputElement && ev.target.type !== "radio";
    if (form && ev.ctrlKey && ev.key === "Enter") { ev.preventDefault(); form.requestSubmit(); return; }
    if (typing && ev.key === "Escape") { ev.target.blur(); return; }  // back to the shortcuts
    if (typing) return;
    if (form && ev.key === "r") { ev.preventDefault(); document.getElementById("reason").focus(); return; }
    if (form && /^[0-9]$/.test(ev.key)) {
      const radio = form.querySelector(`input[name=policy][data-key="${ev.key}"]`);
      if (radio) { radio.checked = true; radio.focus(); ev.preventDefault(); }
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
