// Progressive enhancements for the hub. Every page works without this file; with it, the inbox
// gets keyboard shortcuts, Enter-to-send, alerts for new messages and small niceties. No inline
// script anywhere (CSP): everything is here.
(() => {
  "use strict";

  const composerSelector = "textarea[data-composer]";
  const byId = (id) => document.getElementById(id);
  const typing = (el) => el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));

  // ---------------------------------------------------------------- failed requests
  // Any HTMX request that fails says what happened in one alert region (templates/base.html),
  // and nothing is swapped, so a draft stays in its box. The server's reason (plain text for
  // HTMX requests, see hub/views.py) is shown as it is; otherwise a reason by status.
  const errorBox = () => byId("request-error");
  let errorFromPoll = false;
  const showRequestError = (text, fromPoll) => {
    const box = errorBox();
    if (!box) return;
    box.querySelector("[data-request-error-text]").textContent = text;
    box.dataset.shown = "true";
    errorFromPoll = fromPoll;
  };
  const hideRequestError = () => {
    const box = errorBox();
    if (box) box.dataset.shown = "false";
  };
  const isPoll = (elt) => !!(elt && elt.closest && elt.closest("[data-poll]"));
  const fromComposer = (elt) => !!(elt && elt.closest && elt.closest("#composer"));
  const reasonByStatus = (status) => {
    if (status === 403) return "You cannot do that here.";
    if (status === 404) return "That is not available any more. Reload the page.";
    if (status === 413) return "That is too large to send.";
    if (status === 429) return "Too many requests. Wait a moment and try again.";
    if (status >= 500) return "Something went wrong on our side. Try again in a moment.";
    return "That could not be done. Reload the page and try again.";
  };
  document.addEventListener("htmx:responseError", (event) => {
    const xhr = event.detail.xhr;
    const type = xhr.getResponseHeader("Content-Type") || "";
    let reason = type.startsWith("text/plain") ? xhr.responseText.trim().slice(0, 500) : "";
    if (!reason) reason = reasonByStatus(xhr.status);
    const elt = event.detail.elt;
    if (isPoll(elt)) reason = `Updates paused: ${reason} Retrying…`;
    else if (fromComposer(elt)) reason = `Not sent: ${reason} Your draft is kept.`;
    showRequestError(reason, isPoll(elt));
  });
  const unreachable = (event) => {
    const elt = event.detail.elt;
    const reason = isPoll(elt)
      ? "Cannot reach the hub: updates are paused. Retrying…"
      : fromComposer(elt)
        ? "Not sent: cannot reach the hub. Check your connection and press Send again; your draft is kept."
        : "Cannot reach the hub. Check your connection and try again.";
    showRequestError(reason, isPoll(elt));
  };
  document.addEventListener("htmx:sendError", unreachable);
  document.addEventListener("htmx:timeout", unreachable);
  // a poll that works again clears a poll's error; a person's own error stays until dismissed
  // or their next action works
  document.addEventListener("htmx:afterRequest", (event) => {
    if (!event.detail.successful) return;
    if (errorFromPoll || !isPoll(event.detail.elt)) hideRequestError();
  });

  // ---------------------------------------------------------------- dismissable banners
  document.addEventListener("click", (event) => {
    const target = event.target.closest && event.target;
    if (!target) return;
    if (target.closest("[data-dismiss-request-error]")) hideRequestError();
    const banner = target.closest("[data-dismiss-banner]");
    if (banner) {
      const item = banner.closest("[data-message-banner]");
      const group = item && item.parentElement;
      if (item) item.remove();
      if (group && !group.querySelector("[data-message-banner]")) group.remove();
    }
  });

  // ---------------------------------------------------------------- composer
  // Enter sends, Shift+Enter adds a line (never while an IME is composing); Esc leaves the box.
  document.addEventListener("keydown", (event) => {
    const box = event.target;
    if (!(box instanceof HTMLTextAreaElement) || !box.matches(composerSelector)) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      const form = box.form;
      if (form && !form.querySelector("button[type=submit]").disabled) form.requestSubmit();
    } else if (event.key === "Escape" && !event.isComposing) {
      event.preventDefault();
      box.blur();
      const scroller = byId("chat-scroll");
      if (scroller) scroller.focus({ preventScroll: true });
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
  // "Reply to this" on a customer's message: the reply quotes it (WhatsApp shows the context).
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const quote = document.querySelector("#composer [data-reply-quote]");
    if (!quote) return;
    const choose = target.closest("[data-reply-to]");
    if (choose) {
      quote.querySelector("[data-reply-to-input]").value = choose.dataset.replyTo;
      quote.querySelector("[data-reply-quote-text]").textContent = choose.dataset.replyText || "a message";
      quote.hidden = false;
      const box = document.querySelector(composerSelector);
      if (box) box.focus();
    } else if (target.closest("[data-cancel-reply]")) {
      quote.querySelector("[data-reply-to-input]").value = "";
      quote.hidden = true;
    }
  });
  // The file chosen in the composer, named beside the box (the input itself is hidden).
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.matches("[data-attachment-input]")) return;
    const name = input.form && input.form.querySelector("[data-attachment-name]");
    if (name) name.textContent = input.files && input.files[0] ? `Attached: ${input.files[0].name}` : "";
  });

  // When the composer is swapped for another (the conversation became a colleague's, or came
  // back), a draft in it is never lost: it moves to the new box, or to a read-only copy.
  let carriedDraft = "";
  document.addEventListener("htmx:oobBeforeSwap", (event) => {
    const target = event.detail.target;
    if (!target || target.id !== "composer") return;
    const box = target.querySelector(composerSelector) || target.querySelector("[data-unsent-text]");
    if (box) carriedDraft = box.value;
  });
  const placeCarriedDraft = () => {
    if (!carriedDraft.trim()) return;
    const composer = byId("composer");
    if (!composer) return;
    const box = composer.querySelector(composerSelector);
    if (box && composer.hasAttribute("data-keep-draft") && !box.value) {
      box.value = carriedDraft;
      carriedDraft = "";
      updateCounter(box);
      return;
    }
    const unsent = composer.querySelector("[data-unsent]");
    if (unsent) {
      unsent.hidden = false;
      unsent.querySelector("[data-unsent-text]").value = carriedDraft;
      carriedDraft = "";
    }
  };

  // ---------------------------------------------------------------- explicit commits
  // Status and assignee change only on their button or Enter: arrow keys on a focused select
  // (which fire "change" at once) just move the choice; the form marks itself as not saved.
  const commitForm = (el) => el && el.closest && el.closest("form[data-commit]");
  const markDirty = (form) => {
    const select = form.querySelector("select[data-current]");
    if (select) form.dataset.dirty = select.value !== select.dataset.current ? "true" : "false";
  };
  document.addEventListener("change", (event) => {
    const form = commitForm(event.target);
    if (form) markDirty(form);
  });
  document.addEventListener("keydown", (event) => {
    const form = commitForm(event.target);
    if (!form || event.key !== "Enter" || event.target.tagName !== "SELECT") return;
    event.preventDefault();
    form.requestSubmit();
  });

  // ---------------------------------------------------------------- the list
  // A search, filter or tab asks the page's current path (a conversation may be open).
  document.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt && event.detail.elt.id === "list-filters") {
      event.detail.path = window.location.pathname;
    }
    // the list poll says which rows it shows (ids in base 36, so 500 rows fit in a URL)
    if (event.detail.elt && event.detail.elt.id === "list-poller") {
      event.detail.parameters.shown = [...document.querySelectorAll("#conversation-list a[data-row]")]
        .map((row) => Number(row.dataset.conversation).toString(36))
        .join(".");
    }
  });
  // a poll that found nothing new for this list (204) may still move its token on
  document.addEventListener("htmx:afterRequest", (event) => {
    if (!event.detail.elt || event.detail.elt.id !== "list-poller" || !event.detail.successful) return;
    const token = event.detail.xhr.getResponseHeader("X-List-Version");
    const input = byId("list-version");
    if (token && input) input.value = token;
  });

  // Mark the open conversation in the list, and show the chat on narrow screens.
  const markOpen = () => {
    const column = byId("chat-column");
    const inbox = byId("inbox");
    const openId = column && column.dataset.conversation;
    if (inbox) inbox.dataset.open = openId ? "true" : "false";
    document.querySelectorAll("a[data-row]").forEach((row) => {
      if (row.dataset.conversation === openId) {
        row.setAttribute("aria-current", "page");
        row.querySelectorAll("[data-changed]").forEach((mark) => mark.remove());
      } else {
        row.removeAttribute("aria-current");
      }
    });
  };

  // ---------------------------------------------------------------- new activity
  // The tab title shows how many conversations wait with unread messages; a row that gets new
  // unread messages can play a sound and show a desktop notification (both opt-in, kept in
  // localStorage).
  const baseTitle = document.title.replace(/^\(\d+\+?\) /, "");
  const updateTitle = () => {
    const list = byId("conversation-list");
    if (!list) return;
    const count = list.dataset.titleCount;
    document.title = count && count !== "0" ? `(${count}) ${baseTitle}` : baseTitle;
  };

  const ALERTS_KEY = "hub.alerts";
  const alertSettings = () => {
    try {
      return { sound: false, desktop: false, ...JSON.parse(localStorage.getItem(ALERTS_KEY) || "{}") };
    } catch {
      return { sound: false, desktop: false };
    }
  };
  const saveAlertSettings = (settings) => {
    try { localStorage.setItem(ALERTS_KEY, JSON.stringify(settings)); } catch { /* private mode */ }
  };
  const showAlertSettings = () => {
    const settings = alertSettings();
    document.querySelectorAll("input[data-alert]").forEach((box) => {
      box.checked = !!settings[box.dataset.alert];
    });
  };
  const alertNote = (text) => {
    document.querySelectorAll("[data-alert-note]").forEach((note) => { note.textContent = text; });
  };
  let audio = null;
  const beep = () => {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") audio.resume();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.4);
    } catch { /* no audio here */ }
  };
  document.addEventListener("change", (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.dataset.alert) return;
    const settings = alertSettings();
    settings[box.dataset.alert] = box.checked;
    if (box.dataset.alert === "sound" && box.checked) beep(); // a user gesture unlocks audio
    if (box.dataset.alert === "desktop" && box.checked) {
      if (!("Notification" in window)) {
        box.checked = false;
        settings.desktop = false;
        alertNote("This browser cannot show desktop notifications.");
      } else if (Notification.permission !== "granted") {
        Notification.requestPermission().then((answer) => {
          if (answer !== "granted") {
            box.checked = false;
            const now = alertSettings();
            now.desktop = false;
            saveAlertSettings(now);
            alertNote("Notifications are blocked for this site in the browser's settings.");
          }
        });
      }
    }
    saveAlertSettings(settings);
  });

  // What the list showed last time: conversation id -> unread count.
  let knownUnread = null;
  const readRows = () => {
    const rows = new Map();
    document.querySelectorAll("a[data-row]").forEach((row) => {
      rows.set(row.dataset.conversation, { count: Number(row.dataset.badge || 0), row });
    });
    return rows;
  };
  const noticeNewActivity = (fromPoll) => {
    const rows = readRows();
    const before = knownUnread;
    knownUnread = new Map([...rows].map(([id, { count }]) => [id, count]));
    // the first look, another tab, a filter or "load more" show rows, not news: only a poll does
    if (before === null || !fromPoll) return;
    const fresh = [...rows].filter(([id, { count }]) => count > (before.get(id) || 0));
    if (!fresh.length) return;
    const settings = alertSettings();
    if (settings.sound) beep();
    if (settings.desktop && "Notification" in window && Notification.permission === "granted" && document.hidden) {
      const [id, { row }] = fresh[0];
      const name = (row.querySelector("[data-customer-name]") || row).textContent.trim();
      const preview = (row.querySelector("[data-preview]") || row).textContent.trim();
      const notification = new Notification(fresh.length > 1 ? `${name} and ${fresh.length - 1} more` : name, {
        body: preview,
        tag: `hub-conversation-${id}`,
      });
      notification.onclick = () => { window.focus(); row.click(); notification.close(); };
    }
  };

  // ---------------------------------------------------------------- customer panel
  // Beside the chat on wide screens; below that, an overlay with Close, Esc and focus return.
  const panel = () => byId("customer-panel");
  const panelToggle = () => document.querySelector("[data-toggle-customer]");
  const setPanel = (shown) => {
    const aside = panel();
    if (!aside) return;
    aside.dataset.shown = shown ? "true" : "false";
    const toggle = panelToggle();
    if (toggle) toggle.setAttribute("aria-expanded", shown ? "true" : "false");
    if (shown) aside.focus();
    else if (toggle && aside.contains(document.activeElement)) toggle.focus();
  };
  const panelIsOverlay = () => {
    const aside = panel();
    return !!aside && aside.dataset.shown === "true" && getComputedStyle(aside).position === "fixed";
  };
  document.addEventListener("click", (event) => {
    const target = event.target.closest ? event.target : null;
    if (!target) return;
    if (target.closest("[data-toggle-customer]")) {
      setPanel(!(panel() && panel().dataset.shown === "true"));
    } else if (target.closest("[data-close-customer]")) {
      setPanel(false);
    } else if (panelIsOverlay() && !target.closest("#customer-panel")) {
      setPanel(false); // a click beside the overlay closes it
    }
  });

  // ---------------------------------------------------------------- keyboard shortcuts
  // Listed in the "?" dialog (conversations/views.py SHORTCUTS) and the README.
  const dialog = () => byId("shortcuts-dialog");
  const openShortcuts = () => {
    const d = dialog();
    if (d && !d.open) d.showModal();
  };
  document.addEventListener("click", (event) => {
    if (event.target.closest && event.target.closest("[data-show-shortcuts]")) openShortcuts();
  });
  const rowsInList = () => [...document.querySelectorAll("a[data-row]")];
  const currentRowIndex = (rows) => {
    const focused = rows.indexOf(document.activeElement);
    return focused !== -1 ? focused : rows.findIndex((row) => row.getAttribute("aria-current") === "page");
  };
  const shortcuts = {
    "?": openShortcuts,
    "/": () => {
      const search = byId("list-search");
      if (search) { search.focus(); search.select(); return true; }
      return false;
    },
    j: () => moveInList(1),
    k: () => moveInList(-1),
    n: () => {
      const rows = rowsInList();
      const start = currentRowIndex(rows);
      const order = [...rows.slice(start + 1), ...rows.slice(0, Math.max(start, 0))];
      const next = order.find((row) => row.querySelector("[data-unread]"));
      if (next) { next.focus(); next.click(); return true; }
      return false;
    },
    r: () => {
      const box = document.querySelector(composerSelector);
      if (box) { box.focus(); return true; }
      return false;
    },
    e: () => {
      const select = byId("conversation-status");
      if (!select) return false;
      select.value = "resolved";
      select.form.requestSubmit();
      return true;
    },
    a: () => {
      const button = document.querySelector("[data-assign-me]");
      if (button) { button.click(); return true; }
      return false;
    },
  };
  const moveInList = (step) => {
    const rows = rowsInList();
    if (!rows.length) return false;
    const next = Math.max(0, Math.min(rows.length - 1, currentRowIndex(rows) + step));
    rows[next].focus();
    return true;
  };
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      document.querySelectorAll("details[open]").forEach((menu) => menu.removeAttribute("open"));
      if (panelIsOverlay()) setPanel(false);
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (typing(document.activeElement) || (dialog() && dialog().open)) return;
    const action = shortcuts[event.key];
    if (action && action() !== false) event.preventDefault();
  });

  // ---------------------------------------------------------------- chat scrolling
  // Keep the messages scrolled to the newest one when it was already at the bottom.
  const scrollBox = () => byId("chat-scroll");
  let stickToBottom = true;
  document.addEventListener("scroll", (event) => {
    const box = scrollBox();
    if (event.target === box) stickToBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }, true);
  const scrollToNewest = (force) => {
    const box = scrollBox();
    if (box && (force || stickToBottom)) box.scrollTop = box.scrollHeight;
  };

  // Rows an action changed (#row-updates) replace their twin in the list, if the list shows it.
  const applyRowUpdates = () => {
    const updates = byId("row-updates");
    if (!updates) return;
    [...updates.children].forEach((row) => {
      const current = document.querySelector(`#conversation-list #${CSS.escape(row.id)}`);
      if (current) current.replaceWith(row);
      else row.remove();
    });
  };

  // Rows a list poll found changed (#list-updates) take their place in the list, newest first:
  // a row updated in place stays put (and keeps the focus if it had it), a row with a newer
  // message moves up, a new one is inserted where it belongs, a row that left the list goes.
  const rowKey = (item) => {
    const link = item.querySelector("a[data-row]");
    return link ? [Date.parse(link.dataset.last) || 0, Number(link.dataset.conversation)] : [0, 0];
  };
  const newerThan = (a, b) => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
  const applyListUpdates = () => {
    const updates = byId("list-updates");
    const list = byId("conversation-list");
    if (!updates || !list) return;
    if (updates.dataset.titleCount !== undefined) {
      list.dataset.titleCount = updates.dataset.titleCount;
      delete updates.dataset.titleCount;
    }
    if (!updates.children.length) return;
    const rows = list.querySelector("ul[data-rows]");
    const active = document.activeElement;
    let refocus = null;
    [...updates.children].forEach((item) => {
      if (item.dataset.remove) {
        const gone = list.querySelector(`#${CSS.escape(item.dataset.remove)}`);
        if (gone) gone.remove();
        item.remove();
        return;
      }
      const twin = list.querySelector(`#${CSS.escape(item.id)}`);
      if (!rows) { item.remove(); return; }
      if (twin && active && twin.contains(active)) refocus = item.id;
      const key = rowKey(item);
      const others = [...rows.querySelectorAll(":scope > li[id^='conv-']")].filter((li) => li !== twin);
      const next = others.find((li) => newerThan(key, rowKey(li)));
      if (twin && next === twin.nextElementSibling) {
        twin.replaceWith(item); // same place: swap in place
      } else {
        if (twin) twin.remove();
        rows.insertBefore(item, next || rows.querySelector(":scope > #load-more"));
      }
    });
    if (refocus) {
      const link = byId(refocus) && byId(refocus).querySelector("a[data-row]");
      if (link) link.focus({ preventScroll: true });
    }
    markOpen();
    updateTitle();
    noticeNewActivity(true);
  };

  // Never show a message twice (a poll and a reply can both bring the same one).
  const dropDuplicateMessages = () => {
    const seen = new Set();
    document.querySelectorAll("#chat-messages [data-message]").forEach((item) => {
      if (seen.has(item.id)) item.remove(); else seen.add(item.id);
    });
  };

  document.addEventListener("htmx:afterSettle", (event) => {
    const target = event.detail && event.detail.target;
    dropDuplicateMessages();
    applyRowUpdates();
    placeCarriedDraft();
    markOpen();
    updateTitle();
    if (target && target.id === "chat-column") {
      scrollToNewest(true);
      const box = document.querySelector(composerSelector);
      if (box) box.focus();
    } else {
      scrollToNewest(false);
    }
    if (target && (target.id === "conversation-list" || target.id === "load-more")) {
      noticeNewActivity(isPoll((event.detail.requestConfig || {}).elt));
    }
    document.querySelectorAll(composerSelector).forEach(updateCounter);
  });
  document.addEventListener("htmx:oobAfterSwap", () => {
    dropDuplicateMessages();
    applyRowUpdates();
    applyListUpdates();
    markOpen();
    scrollToNewest(false);
  });

  // ---------------------------------------------------------------- other pages
  // Start form: show the fields of the chosen customer mode only.
  const showModePanels = () => {
    const chosen = document.querySelector("input[data-mode]:checked");
    if (!chosen) return;
    document.querySelectorAll("[data-mode-panel]").forEach((modePanel) => {
      modePanel.hidden = modePanel.dataset.modePanel !== chosen.value;
    });
  };
  document.addEventListener("change", (event) => {
    if (event.target.matches && event.target.matches("input[data-mode]")) showModePanels();
  });

  // Long form posts (CSV import): a working bar and disabled buttons until the next page arrives.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.progress) return;
    const progress = form.querySelector("[data-progress-panel]");
    if (!progress) return;
    progress.classList.remove("hidden");
    progress.querySelector("[data-progress-text]").textContent = form.dataset.progress;
    // disable after the browser has collected the form, so the submission still carries it
    setTimeout(() => form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; }), 0);
  });

  document.addEventListener("DOMContentLoaded", () => {
    showModePanels();
    markOpen();
    updateTitle();
    showAlertSettings();
    noticeNewActivity(false);
    scrollToNewest(true);
  });

  // an email's remote images load only when the agent asks (no request leaves the browser
  // when a mail is opened: tracking pixels stay silent)
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-show-remote-images]");
    if (!button) return;
    const mail = button.parentElement.querySelector("[data-mail-html]");
    if (!mail) return;
    for (const image of mail.querySelectorAll("img[data-remote-src]")) {
      if (/^https?:\/\//i.test(image.dataset.remoteSrc)) image.src = image.dataset.remoteSrc;
      image.removeAttribute("data-remote-src");
    }
    button.remove();
  });
})();
