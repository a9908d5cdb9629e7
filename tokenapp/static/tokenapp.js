// tokenapp's few lines of behaviour on top of htmx: open server-rendered dialogs
// as modals (focus trapped, Escape closes), refresh the balance when the tab
// comes back, and say so in place when a request cannot reach the server.
(function () {
  "use strict";

  var FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), " +
    "select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

  // `opener` is the button that asked for the dialog: it was disabled during the
  // request, so the browser cannot give it focus back by itself on close.
  function openDialogs(root, opener) {
    var dialogs = root.matches && root.matches("dialog[data-modal]") ? [root] : [];
    if (root.querySelectorAll) dialogs = dialogs.concat([].slice.call(root.querySelectorAll("dialog[data-modal]")));
    dialogs.forEach(function (dialog) {
      if (dialog.open) return;
      dialog.tokenappOpener = opener || null;
      dialog.showModal();
    });
  }

  document.addEventListener("DOMContentLoaded", function () { openDialogs(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail.requestConfig;
    openDialogs(event.detail.elt, config && config.elt);
  });

  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (!dialog.matches || !dialog.matches("#gate-slot dialog")) return;
    var opener = dialog.tokenappOpener;
    dialog.remove();
    if (opener && opener.isConnected && !opener.disabled) opener.focus();
  }, true);

  // Keep Tab and Shift+Tab inside an open modal; Chromium otherwise lets focus
  // leave it for the browser's own toolbar and lands on <body> on the way back.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Tab") return;
    var modals = document.querySelectorAll("dialog[data-modal][open]");
    var dialog = modals[modals.length - 1];
    if (!dialog) return;
    var items = [].filter.call(dialog.querySelectorAll(FOCUSABLE), function (el) { return el.getClientRects().length > 0; });
    if (!items.length) return;
    var first = items[0], last = items[items.length - 1], active = document.activeElement;
    var inside = dialog.contains(active);
    if (event.shiftKey && (!inside || active === first)) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && (!inside || active === last)) { event.preventDefault(); first.focus(); }
  });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) closer.closest("dialog").close();
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && window.htmx) htmx.trigger(document.body, "tokens-changed");
  });

  // Problems with a gate are told where its result goes, not below the page.
  function placeFor(target) {
    if (target && target.id === "gate-slot") return document.getElementById("feature-result") || target;
    return target;
  }

  document.addEventListener("htmx:sendError", function (event) {
    var target = placeFor(event.detail.target || event.detail.elt);
    var note = document.createElement("div");
    note.className = "fragment-error";
    note.setAttribute("role", "alert");
    note.textContent = "Could not reach the server. Check your connection and try again.";
    if (target) { target.innerHTML = ""; target.appendChild(note); }
  });

  // The app answers htmx errors with a short fragment. A blank body or a whole
  // page (a proxy's "502 Bad Gateway", say) is replaced by a readable message.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (!detail.isError || !detail.shouldSwap) return;
    // Background refreshes (the badge, a history list) keep what they show rather than an error.
    if (detail.target && detail.target.closest && detail.target.closest("[data-keep-on-error]")) {
      detail.shouldSwap = false;
      return;
    }
    detail.target = placeFor(detail.target);
    var body = String(detail.serverResponse || "");
    if (body.trim() && !/<(!doctype|html|head|body)[\s>]/i.test(body)) return;
    var status = Number(detail.xhr && detail.xhr.status) || 0;
    detail.serverResponse = '<div class="fragment-error" role="alert"><strong>Something went wrong.</strong> ' +
      "The server could not answer" + (status ? " (error " + status + ")" : "") + ". Please try again in a moment.</div>";
    detail.swapOverride = "innerHTML";
    detail.selectOverride = null;
  });
})();
