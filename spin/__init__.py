"""The SPIN cross-check: a Promela model of ``vercel-today`` (``vercel_today.pml``) and the code
that runs SPIN on it next to the Python BFS (``crosscheck.py``)."""
