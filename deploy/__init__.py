"""Deploy stage: lowering to Loihi fixed point, netx HDF5 files and reports."""
