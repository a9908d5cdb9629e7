// tokenapp's few lines of behaviour on top of htmx: open server-rendered dialogs
// as modals (focus trapped, Escape closes), refresh the balance when the tab
// comes back, and say so in place when a request cannot reach the server.
(function () {
  "use strict";

  function openDialogs(root) {
    var dialogs = root.matches && root.matches("dialog[data-modal]") ? [root] : [];
    if (root.querySelectorAll) dialogs = dialogs.concat([].slice.call(root.querySelectorAll("dialog[data-modal]")));
    dialogs.forEach(function (dialog) { if (!dialog.open) dialog.showModal(); });
  }

  document.addEventListener("DOMContentLoaded", function () { openDialogs(document); });
  document.addEventListener("htmx:afterSettle", function (event) { openDialogs(event.detail.elt); });

  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (dialog.matches && dialog.matches("#gate-slot dialog")) dialog.remove();
  }, true);

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) closer.closest("dialog").close();
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && window.htmx) htmx.trigger(document.body, "tokens-changed");
  });

  document.addEventListener("htmx:sendError", function (event) {
    var target = event.detail.target || event.detail.elt;
    var note = document.createElement("div");
    note.className = "fragment-error";
    note.setAttribute("role", "alert");
    note.textContent = "Could not reach the server. Check your connection and try again.";
    if (target && target.id === "gate-slot") target = document.getElementById("feature-result") || target;
    if (target) { target.innerHTML = ""; target.appendChild(note); }
  });
})();
