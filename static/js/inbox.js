// The Inbox's keyboard shortcuts, and what its htmx attributes cannot say alone: the selected
// row, the reading pane opening over the list and closing again, "select all", the shortcut
// help and the message of a refused change. Loaded on the Inbox pages only; no inline handlers.
//
// j/k move the selection, o or Enter opens, e archives, s stars, u marks unread, x ticks the
// row, / searches, Esc goes back to the list, ? shows the help. Each action clicks the button
// the page already has for it, so keyboard and mouse post the same forms.
(function () {
  "use strict";

  var root = document.querySelector("[data-inbox]");
  if (!root) return;
  var lastIndex = 0;

  function byId(id) { return document.getElementById(id); }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#inbox-list [data-inbox-row]")); }
  function selected() { return document.querySelector("#inbox-list [data-inbox-row].is-selected"); }
  function reading() { return root.classList.contains("is-reading"); }

  function select(row) {
    var current = selected();
    if (current) current.classList.remove("is-selected");
    if (!row) return;
    row.classList.add("is-selected");
    lastIndex = rows().indexOf(row);
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.indexOf(selected());
    select(all[index < 0 ? 0 : Math.min(Math.max(index + step, 0), all.length - 1)]);
  }

  // After a swap the selected row may be gone (archived) or new (another page of the list).
  function keepSelection() {
    if (selected()) return;
    var all = rows();
    if (all.length) select(all[Math.min(lastIndex, all.length - 1)]);
  }

  function press(selector, scope) {
    var button = scope && scope.querySelector(selector);
    if (!button) return;
    // What htmx swapped in a moment ago is wired only once it settles: a key pressed before
    // that would submit the form as a full page load. Wire it now (a no-op when it is).
    if (window.htmx) window.htmx.process(button.closest("form") || button);
    button.click();
  }

  function open(row) {
    if (!row) return;
    select(row);
    press("[data-inbox-open]", row);
  }

  function backToList() {
    if (!reading()) return;
    if (!byId("inbox-list")) {
      // A thread opened as a page of its own: the list is another page.
      window.location.assign(root.getAttribute("data-list-url"));
      return;
    }
    root.classList.remove("is-reading");
    byId("inbox-reader").innerHTML = "";
    history.pushState({}, "", root.getAttribute("data-list-url"));
    keepSelection();
    var row = selected();
    if (row) row.scrollIntoView({ block: "nearest" });
  }

  function focusSearch() {
    backToList();
    var search = document.querySelector("[data-inbox-search]");
    if (search) {
      search.focus();
      search.select();
    }
  }

  function toggleHelp(show) {
    var help = byId("inbox-help");
    var toggle = document.querySelector("[data-inbox-help-toggle]");
    var visible = show === undefined ? help.hidden : show;
    help.hidden = !visible;
    if (toggle) toggle.setAttribute("aria-expanded", visible ? "true" : "false");
  }

  function toast(text) {
    var box = byId("inbox-toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.hidden = true; }, 5000);
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var typing = target.closest && target.closest("input, textarea, select, [contenteditable=true]");
    if (event.key === "Escape") {
      if (!byId("inbox-help").hidden) toggleHelp(false);
      else if (typing) target.blur();
      else backToList();
      return;
    }
    if (typing) return;
    var row = selected();
    var scope = reading() ? byId("inbox-reader") : row;
    switch (event.key) {
      case "j": if (!reading()) move(1); break;
      case "k": if (!reading()) move(-1); break;
      case "Enter":
        // Enter on a link or button does what it says.
        if (reading() || (target.closest && target.closest("a, button, summary"))) return;
        open(row);
        break;
      case "o": if (!reading()) open(row); break;
      case "e": press("[data-inbox-archive]", scope); break;
      case "s": press("[data-inbox-star]", scope); break;
      case "u": press("[data-inbox-unread]", scope); break;
      case "x": if (!reading()) press("[data-inbox-check]", row); break;
      case "/": focusSearch(); break;
      case "?": toggleHelp(); break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.closest("[data-inbox-help-toggle]")) toggleHelp();
    if (target.closest("[data-inbox-help-close]")) toggleHelp(false);
    if (target.closest("[data-inbox-back]") && byId("inbox-list")) {
      event.preventDefault();
      backToList();
      return;
    }
    var row = target.closest("#inbox-list [data-inbox-row]");
    if (!row) return;
    // A click on the row's free space opens it; its links, buttons and checkbox act themselves.
    if (target.closest("a, button, input, label, form")) select(row);
    else open(row);
  });

  document.addEventListener("change", function (event) {
    if (!event.target.matches("[data-inbox-select-all]")) return;
    var checked = event.target.checked;
    rows().forEach(function (row) {
      var box = row.querySelector("[data-inbox-check]");
      if (box) box.checked = checked;
    });
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var id = event.detail.target && event.detail.target.id;
    if (id === "inbox-reader") {
      root.classList.add("is-reading");
      window.scrollTo(0, 0);
      byId("inbox-reader").focus({ preventScroll: true });
    } else if (id === "inbox-main" || id === "inbox-list") {
      root.classList.remove("is-reading");
      byId("inbox-reader").innerHTML = "";
      lastIndex = 0;
    }
  });

  document.body.addEventListener("htmx:afterSettle", keepSelection);

  // The list's address changes with a folder or a search: Esc comes back to it.
  document.body.addEventListener("htmx:pushedIntoHistory", function (event) {
    var path = event.detail.path || "";
    if (path.indexOf("/inbox/thread/") === -1) root.setAttribute("data-list-url", path);
  });

  // Archiving or marking unread from the thread view goes back to the list, once the answer
  // is in (the form itself is swapped away, so its own events no longer reach the page).
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var source = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!event.detail.isError && source && source.closest && source.closest("[data-inbox-close]")) {
      setTimeout(backToList, 0);
    }
  });

  document.body.addEventListener("htmx:responseError", function (event) {
    var text = (event.detail.xhr && event.detail.xhr.responseText) || "";
    toast(text.length && text.length < 300 ? text : "That did not work. Reload the page and try again.");
  });

  // A thumbnail that cannot be drawn (a damaged PDF, say) goes away rather than show a broken
  // image; its Preview and Download links stay. Errors of images do not bubble: capture them.
  document.addEventListener("error", function (event) {
    var image = event.target;
    var thumbnail = image && image.tagName === "IMG" && image.closest(".attachment__preview");
    if (thumbnail) thumbnail.hidden = true;
  }, true);

  keepSelection();
})();
