"""The constructs: each one logical unit of the pipeline (buckets, upload events, the registry, the
resize pipeline, the API on both runtimes, delivery, alarms, the dashboard), taking keyword-only props
and resources as objects. The stacks that compose them are ``photo_pipeline_cdk.stacks``."""
