// Liaison's few behaviours that HTML alone cannot do: closing menus, dismissing flash
// messages and copying secrets. Everything else is plain forms and htmx attributes.
(function () {
  "use strict";

  function closeMenus(except) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }

  document.addEventListener("click", function (event) {
    var menu = event.target.closest("details[data-menu]");
    closeMenus(menu);

    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      var flash = dismiss.closest(".flash");
      if (flash) flash.remove();
    }

    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy"));
      if (!source) return;
      var text = source.value !== undefined ? source.value : source.textContent;
      var done = function () {
        var label = copy.querySelector("[data-copy-label]") || copy;
        var original = label.textContent;
        label.textContent = "Copied";
        copy.classList.add("is-copied");
        setTimeout(function () {
          label.textContent = original;
          copy.classList.remove("is-copied");
        }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text.trim()).then(done);
      } else if (source.select) {
        // Plain-HTTP self-hosted installs have no Clipboard API.
        source.select();
        document.execCommand("copy");
        done();
      }
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeMenus(null);
  });
})();
