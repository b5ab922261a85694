# Run by IPython in every notebook kernel of the book's build, before the notebook's first cell:
# book/_ext/figure_text.py names this file in PYTHONSTARTUP. It applies the book's figure style,
# which makes every PNG figure the notebook shows record the size of its smallest text
# (attn_lessons.visualize.book_style), and leaves no name in the notebook's namespace.
__import__("attn_lessons.visualize", fromlist=["book_style"]).book_style()
