/* Maths and tables that fit (book/_ext/phone_layout.py).
 *
 * At 1280 px the article's column is 688 px wide, and some display equations (up to 883 px) and a
 * table are wider: they were cut off at the column's edge. Where the page's table of contents
 * stands beside the article (the themes' wide layout), each display equation or table wider than
 * the column is marked "book-wide" and extends over the margin to the right
 * (phone_layout.css: --book-margin is the room there), and the table of contents folds to its
 * title while such an element passes beside it, as sphinx-book-theme folds it for its own
 * full-width content (its class "hide"; hovering the title unfolds it). Where there is no margin
 * (a phone, a tablet) nothing is marked, and a wide equation scrolls inside its own box.
 *
 * At any width, an inline formula wider than the box the theme gives it (a long formula on a
 * phone, in a narrow table cell) is marked "book-scroll" and scrolls instead of being cut off.
 */
(() => {
  const WIDE = "book-wide";
  const SCROLL = "book-scroll";
  const CANDIDATES = "article.bd-article div.math, "
    + "article.bd-article .pst-scrollable-table-container";
  let wide = [];
  let folded = false;
  let scheduled = false;

  // The room between the article's text column and the content edge of the sidebar beside it.
  const room = () => {
    const article = document.querySelector("article.bd-article");
    const sidebar = document.querySelector(".bd-sidebar-secondary");
    if (!article || !sidebar || !sidebar.getClientRects().length) {
      return 0;
    }
    const a = article.getBoundingClientRect();
    const s = sidebar.getBoundingClientRect();
    if (s.width === 0 || s.left < a.right - 1
        || s.right > document.documentElement.clientWidth + 1) {
      return 0; // not beside the article on the screen (narrow layouts keep it off-screen)
    }
    const articlePadding = parseFloat(getComputedStyle(article).paddingRight) || 0;
    const sidebarPadding = parseFloat(getComputedStyle(sidebar).paddingRight) || 0;
    return Math.max(0, Math.floor(s.right - sidebarPadding - a.right + articlePadding));
  };

  // Wider than its column: an equation whose MathJax container overflows, a table that does.
  const overflows = (element) => {
    const inner = element.matches("div.math") ? element.querySelector("mjx-container") : element;
    return !!inner && inner.clientWidth > 0 && inner.scrollWidth > inner.clientWidth + 1;
  };

  const foldContents = () => {
    const sidebar = document.querySelector(".bd-sidebar-secondary");
    if (!sidebar) {
      return;
    }
    const top = sidebar.getBoundingClientRect().top;
    const bottom = top + sidebar.scrollHeight; // its unfolded height, folded or not
    const beside = wide.some((element) => {
      const r = element.getBoundingClientRect();
      return r.height > 0 && r.top < bottom && r.bottom > top;
    });
    if (beside !== folded) { // only undo what this script did
      folded = beside;
      sidebar.classList.toggle("hide", beside);
    }
  };

  const mark = () => {
    scheduled = false;
    const margin = room();
    document.documentElement.style.setProperty("--book-margin", `${margin}px`);
    const candidates = [...document.querySelectorAll(CANDIDATES)];
    candidates.forEach((element) => element.classList.remove(WIDE));
    wide = margin > 0 ? candidates.filter(overflows) : [];
    wide.forEach((element) => element.classList.add(WIDE));
    // Every class removed, then every formula measured, then the classes set: one layout for
    // them all (removing and measuring formula by formula laid the page out once per formula:
    // chapter 2, 268 formulas, 182 ms in this function, now 105, mostly the first layout).
    const formulas = [...document.querySelectorAll("article.bd-article span.math")];
    formulas.forEach((formula) => formula.classList.remove(SCROLL));
    formulas.filter((formula) => {
      const svg = formula.querySelector("mjx-container svg");
      return svg && svg.getBoundingClientRect().width > formula.clientWidth + 1;
    }).forEach((formula) => formula.classList.add(SCROLL));
    foldContents();
  };

  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(mark);
    }
  };

  const setup = () => {
    // MathJax loads asynchronously: by the window's load event it is there, and its promise
    // resolves once the page's maths is typeset.
    const typeset = window.MathJax && MathJax.startup && MathJax.startup.promise;
    (typeset || Promise.resolve()).then(schedule);
    window.addEventListener("resize", schedule);
    window.addEventListener("scroll", () => requestAnimationFrame(foldContents),
                            { passive: true });
    // Maths inside a collapsed solution is measured when the solution opens.
    if (window.ResizeObserver) {
      const shown = new WeakMap();
      const observer = new ResizeObserver((entries) => {
        if (entries.some((e) => shown.get(e.target) !== e.contentRect.width > 0)) {
          entries.forEach((e) => shown.set(e.target, e.contentRect.width > 0));
          schedule();
        }
      });
      document.querySelectorAll(`${CANDIDATES}, article.bd-article span.math`)
        .forEach((element) => observer.observe(element));
    }
  };
  if (document.readyState === "complete") {
    setup();
  } else {
    window.addEventListener("load", setup);
  }
})();
