// Small enhancements; every page works without JavaScript.

// Settings forms marked data-autosubmit save as soon as a choice changes;
// their submit button is only needed without JavaScript.
document.querySelectorAll("form[data-autosubmit]").forEach((form) => {
  form.querySelectorAll("[data-autosubmit-button]").forEach((button) => { button.hidden = true; });
  form.addEventListener("change", () => form.requestSubmit());
});

// Ctrl+Enter (⌘+Enter) in the composer sends the reply.
const composer = document.getElementById("composer-body");
if (composer) {
  composer.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      composer.form.requestSubmit();
    }
  });
}
