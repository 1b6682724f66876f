// Small progressive enhancements for every page; each page works without them.

document.documentElement.classList.replace("no-js", "js");

// Small screens: the main menu folds behind a toggle button.
function setUpNavToggle() {
  const toggle = document.querySelector("[data-nav-toggle]");
  const nav = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
  if (!toggle || !nav) return;
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    nav.classList.toggle("is-open", open);
  });
}

// Flash messages can be dismissed.
function setUpMessages() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-dismiss]");
    if (button) button.closest("[data-message]")?.remove();
  });
}

// Destructive forms ask first: <form data-confirm="Remove this member?">.
function setUpConfirmations() {
  document.addEventListener("submit", (event) => {
    const form = event.target;
    const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
    if (question && !window.confirm(question)) event.preventDefault();
  });
}

// Registration: the browser's time zone, so times show in local time from the start.
function fillTimezone() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  for (const input of document.querySelectorAll("input[data-detect-timezone]")) {
    if (!input.value && zone) input.value = zone;
  }
}

// Copy buttons: <button data-copy-target="element-id">.
function setUpCopyButtons() {
  for (const button of document.querySelectorAll("[data-copy-target]")) {
    if (!navigator.clipboard) {
      button.hidden = true;
      continue;
    }
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copyTarget);
      if (!source) return;
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(source.innerText.trim());
        button.textContent = "Copied";
      } catch {
        button.textContent = "Copy failed";
      }
      setTimeout(() => { button.textContent = label; }, 2000);
    });
  }
}

// Close the user menu when focus or a click goes elsewhere, or on Escape.
function setUpUserMenu() {
  const menu = document.querySelector(".user-menu");
  if (!menu) return;
  document.addEventListener("click", (event) => {
    if (menu.open && !menu.contains(event.target)) menu.open = false;
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menu.open) {
      menu.open = false;
      menu.querySelector("summary")?.focus();
    }
  });
}

setUpNavToggle();
setUpMessages();
setUpConfirmations();
fillTimezone();
setUpCopyButtons();
setUpUserMenu();
