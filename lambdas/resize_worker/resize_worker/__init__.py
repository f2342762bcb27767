"""The resize Lambda: SQS batches of S3 upload events in, variants and records in the media bucket out."""
