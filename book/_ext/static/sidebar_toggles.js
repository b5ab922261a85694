/* Every sidebar toggle on the page opens its sidebar: a local patch for pydata-sphinx-theme#2451.
 *
 * The built page has two buttons of class "primary-toggle" (pydata-sphinx-theme 0.17's navbar
 * renders one, sphinx-book-theme's article header another) and two of class "secondary-toggle".
 * Both themes' scripts bind only the first of each (document.querySelector): the navbar's, which
 * the book theme hides. The buttons a reader sees did nothing: at phone width the table of
 * contents could not be opened at all. sphinx-book-theme 1.3.0 pins pydata-sphinx-theme exactly,
 * and the release that fixes it (1.4) needs a Sphinx that Jupyter Book 1 excludes, so the book
 * patches it here (book/_ext/phone_layout.py adds this file to every page): a click on any other
 * toggle is handed to the first one of its class, to which both themes' handlers are bound (at
 * phone width pydata-sphinx-theme opens the sidebar as a dialog, closed by Escape or a click
 * beside it; on a wide screen sphinx-book-theme hides or shows the primary sidebar). Remove it
 * when the themes are upgraded; tests/browser/test_pages.py checks the toggles on every page.
 */
(() => {
  const forwardToFirst = (selector) => {
    const [bound, ...others] = document.querySelectorAll(selector);
    if (!bound) {
      return;
    }
    others.forEach((button) => {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopImmediatePropagation();
        bound.click();
      });
    });
  };
  const setup = () => {
    forwardToFirst(".primary-toggle");
    forwardToFirst(".secondary-toggle");
  };
  if (document.readyState !== "loading") {
    setup();
  } else {
    document.addEventListener("DOMContentLoaded", setup);
  }
})();
