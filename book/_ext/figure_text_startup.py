# Run by IPython in every notebook kernel of the book's build, before the notebook's first cell:
# book/_ext/figure_text.py names this file in PYTHONSTARTUP. It applies the book's figure style,
# which makes every PNG figure the notebook shows record the size of its smallest text
# (attn_lessons.visualize.book_style) and carry a copy of itself with its text in Chinese, drawn
# from the figure-text catalogue locale/zh_CN/LC_MESSAGES/figures.po beside this file
# (attn_lessons.figure_translation; the Chinese edition shows the copies). It leaves no name in
# the notebook's namespace.
__import__("attn_lessons.visualize", fromlist=["book_style"]).book_style(
    figure_catalogue=__import__("pathlib").Path(__import__("os").environ["PYTHONSTARTUP"])
    .resolve().parent / "locale" / "zh_CN" / "LC_MESSAGES" / "figures.po")
