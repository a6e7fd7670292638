// The inbox's bulk bar: show only the value the chosen action needs; "select all" ticks
// every row's checkbox. Without this script every field shows and the form still works.
(function () {
  "use strict";
  const form = document.getElementById("bulk-form");
  if (!form) return;
  const action = form.querySelector("#bulk-action");
  const values = form.querySelectorAll("[data-bulk-for]");
  function showValue() {
    values.forEach((field) => {
      const shown = field.dataset.bulkFor === action.value;
      field.hidden = !shown;
      field.disabled = !shown;
    });
  }
  action.addEventListener("change", showValue);
  showValue();
  const all = document.getElementById("bulk-all");
  if (all) {
    all.addEventListener("change", () => {
      document.querySelectorAll("input[name='ids'][form='bulk-form']")
        .forEach((box) => { box.checked = all.checked; });
    });
  }
})();
