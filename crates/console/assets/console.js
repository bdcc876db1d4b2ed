// Rampart review console: media reveal, keyboard shortcuts, select-all and
// the decide form's "reason required" rule. Loaded with `defer` from
// /console/static/console.js (the CSP forbids inline script). Everything
// here is an enhancement: every action also works without JavaScript.
(function () {
  "use strict";

  var byId = function (id) {
    return document.getElementById(id);
  };

  // Reveal / blur every .blurred-able media element.
  var reveal = byId("reveal");
  if (reveal) {
    reveal.addEventListener("click", function () {
      var revealed = reveal.getAttribute("aria-pressed") !== "true";
      document.querySelectorAll(".blurred-able").forEach(function (el) {
        el.classList.toggle("blurred", !revealed);
      });
      reveal.setAttribute("aria-pressed", revealed ? "true" : "false");
      reveal.textContent = revealed ? "Blur images" : "Reveal images";
    });
  }

  // A reason is required to remove or escalate (the server checks too).
  var decideForm = byId("decide-form");
  var reason = byId("reason");
  var updateReasonRequired = function () {
    if (!decideForm || !reason) return;
    var checked = decideForm.querySelector('input[name="outcome"]:checked');
    reason.required = !!checked && checked.value !== "approve";
  };
  if (decideForm) {
    decideForm.addEventListener("change", updateReasonRequired);
    updateReasonRequired();
  }

  var chooseOutcome = function (value) {
    var radio = byId("outcome-" + value);
    if (!radio) return;
    radio.checked = true;
    updateReasonRequired();
    if (reason) reason.focus();
  };

  // Select all items on the queue page.
  var selectAll = byId("select-all");
  var itemBoxes = function () {
    return Array.prototype.slice.call(document.querySelectorAll('input[type="checkbox"][name="item"]'));
  };
  if (selectAll) {
    selectAll.addEventListener("change", function () {
      itemBoxes().forEach(function (box) {
        box.checked = selectAll.checked;
      });
    });
    document.addEventListener("change", function (event) {
      if (event.target.name !== "item") return;
      var boxes = itemBoxes();
      var checked = boxes.filter(function (box) {
        return box.checked;
      }).length;
      selectAll.checked = checked === boxes.length;
      selectAll.indeterminate = checked > 0 && checked < boxes.length;
    });
  }

  // Keyboard shortcuts.
  var shortcuts = byId("shortcuts");
  var openShortcuts = function () {
    if (shortcuts && !shortcuts.open && shortcuts.showModal) shortcuts.showModal();
  };
  var shortcutsOpen = byId("shortcuts-open");
  if (shortcutsOpen) shortcutsOpen.addEventListener("click", openShortcuts);

  var click = function (id) {
    var el = byId(id);
    if (el) el.click();
  };

  var moveInQueue = function (step) {
    var links = Array.prototype.slice.call(document.querySelectorAll(".item-link"));
    if (links.length === 0) return;
    var at = links.indexOf(document.activeElement);
    var next = at === -1 ? (step > 0 ? 0 : links.length - 1) : at + step;
    next = Math.max(0, Math.min(links.length - 1, next));
    links[next].focus();
  };

  var typing = function (el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  };

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || event.defaultPrevented) return;
    if (event.key === "Escape") {
      if (shortcuts && shortcuts.open) shortcuts.close();
      return;
    }
    if (typing(event.target)) return;
    if (shortcuts && shortcuts.open) return;

    var handled = true;
    switch (event.key) {
      case "c":
        click("claim");
        break;
      case "a":
        chooseOutcome("approve");
        break;
      case "r":
        chooseOutcome("remove");
        break;
      case "e":
        chooseOutcome("escalate");
        break;
      case "s":
        if (decideForm) {
          if (decideForm.requestSubmit) decideForm.requestSubmit();
          else decideForm.submit();
        }
        break;
      case "n":
        click("next-item");
        break;
      case "v":
        click("reveal");
        break;
      case "?":
        openShortcuts();
        break;
      case "j":
        moveInQueue(1);
        break;
      case "k":
        moveInQueue(-1);
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  });
})();
