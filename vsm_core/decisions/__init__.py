"""The decision layer: where value gets stuck (``bottlenecks``), what to change first
(``levers``), what the future state would look like (``whatif``) and whether a change worked
(``experiments``). Every module reads a prepared ``metrics.Flow`` and never imports Streamlit.
"""
