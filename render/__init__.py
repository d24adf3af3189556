"""Rendering without Streamlit: the interactive web map (:mod:`render.webmap`) and
basemap choices (:mod:`render.basemaps`), shared by the pages, the CLI and the exports."""
