# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Overview: a reference model of `process_mrelease()`
#
# Stub notebook: proves the notebook pipeline (sync, execute, nbval, report) end to end.
# The real overview comes later.

# %%
import mrelease_ref

print(mrelease_ref.KERNEL_VERSION)
