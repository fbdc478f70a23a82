"""What a run writes: the monthly metrics and yearly figures (`metrics`), the one schema of every
stored column (`schema`), the run folder with its provenance (`run_folder`, `files`) and figures (`plots`)."""
