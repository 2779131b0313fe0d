// Progressive enhancements for the hub. Every page works without this file; with it, the inbox
// gets keyboard shortcuts, Enter-to-send and small niceties. No inline script anywhere (CSP).
(() => {
  "use strict";

  const composerSelector = "textarea[data-composer]";

  // Escape closes an open mobile menu.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      document.querySelectorAll("details[open]").forEach((menu) => menu.removeAttribute("open"));
    }
  });

  // Composer: Enter sends, Shift+Enter adds a line (never while an IME is composing).
  document.addEventListener("keydown", (event) => {
    const box = event.target;
    if (!(box instanceof HTMLTextAreaElement) || !box.matches(composerSelector)) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      const form = box.form;
      if (form && !form.querySelector("button[type=submit]").disabled) form.requestSubmit();
    }
  });

  // Character counter beside the composer, so a long draft is no surprise.
  const updateCounter = (box) => {
    const counter = box.form && box.form.querySelector("[data-counter]");
    if (!counter) return;
    const max = Number(box.dataset.max || 5000);
    const length = box.value.length;
    counter.textContent = length > max * 0.8 ? `${length.toLocaleString()} / ${max.toLocaleString()}` : "";
    counter.classList.toggle("text-red-600", length > max);
  };
  document.addEventListener("input", (event) => {
    if (event.target.matches && event.target.matches(composerSelector)) updateCounter(event.target);
  });

  // List shortcuts: "/" searches, j/k move through conversations, when not typing.
  const typing = (el) => el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(document.activeElement)) return;
    if (event.key === "/") {
      const search = document.getElementById("list-search");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
      return;
    }
    if (event.key !== "j" && event.key !== "k") return;
    const rows = [...document.querySelectorAll("a[data-row]")];
    if (!rows.length) return;
    const current = rows.indexOf(document.activeElement);
    const start = current === -1 ? rows.findIndex((row) => row.getAttribute("aria-current") === "page") : current;
    const next = Math.max(0, Math.min(rows.length - 1, start + (event.key === "j" ? 1 : -1)));
    event.preventDefault();
    rows[next].focus();
  });

  // Keep the messages scrolled to the newest one when it was already at the bottom.
  const scrollBox = () => document.getElementById("chat-scroll");
  let stickToBottom = true;
  document.addEventListener("scroll", (event) => {
    const box = scrollBox();
    if (event.target === box) stickToBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }, true);
  const scrollToNewest = (force) => {
    const box = scrollBox();
    if (box && (force || stickToBottom)) box.scrollTop = box.scrollHeight;
  };

  // Never show a message twice (a poll and a reply can both bring the same one).
  const dropDuplicateMessages = () => {
    const seen = new Set();
    document.querySelectorAll("#chat-messages [data-message]").forEach((item) => {
      if (seen.has(item.id)) item.remove(); else seen.add(item.id);
    });
  };

  // Mark the open conversation in the list, and show the chat on narrow screens.
  const markOpen = () => {
    const column = document.getElementById("chat-column");
    const inbox = document.getElementById("inbox");
    const openId = column && column.dataset.conversation;
    if (inbox) inbox.dataset.open = openId ? "true" : "false";
    document.querySelectorAll("a[data-row]").forEach((row) => {
      if (row.dataset.conversation === openId) row.setAttribute("aria-current", "page");
      else row.removeAttribute("aria-current");
    });
  };

  // The customer panel opens beside the chat on narrower screens.
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest && event.target.closest("[data-toggle-customer]");
    if (!toggle) return;
    const panel = document.getElementById("customer-panel");
    if (!panel) return;
    const shown = panel.dataset.shown === "true";
    panel.dataset.shown = shown ? "false" : "true";
    toggle.setAttribute("aria-expanded", shown ? "false" : "true");
  });

  document.addEventListener("htmx:afterSettle", (event) => {
    const target = event.detail && event.detail.target;
    dropDuplicateMessages();
    if (target && target.id === "chat-column") {
      markOpen();
      scrollToNewest(true);
      const box = document.querySelector(composerSelector);
      if (box) box.focus();
    } else {
      scrollToNewest(false);
    }
    document.querySelectorAll(composerSelector).forEach(updateCounter);
  });
  document.addEventListener("htmx:oobAfterSwap", () => { dropDuplicateMessages(); scrollToNewest(false); });

  // Start form: show the fields of the chosen customer mode only.
  const showModePanels = () => {
    const chosen = document.querySelector("input[data-mode]:checked");
    if (!chosen) return;
    document.querySelectorAll("[data-mode-panel]").forEach((panel) => {
      panel.hidden = panel.dataset.modePanel !== chosen.value;
    });
  };
  document.addEventListener("change", (event) => {
    if (event.target.matches && event.target.matches("input[data-mode]")) showModePanels();
  });

  // Long form posts (CSV import): a working bar and disabled buttons until the next page arrives.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.progress) return;
    const panel = form.querySelector("[data-progress-panel]");
    if (!panel) return;
    panel.classList.remove("hidden");
    panel.querySelector("[data-progress-text]").textContent = form.dataset.progress;
    // disable after the browser has collected the form, so the submission still carries it
    setTimeout(() => form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; }), 0);
  });

  document.addEventListener("DOMContentLoaded", () => {
    showModePanels();
    markOpen();
    scrollToNewest(true);
  });
})();
