"""Storage: the `Store` protocol, the folder and S3 backends, storage keys, the footage download cache, gc."""
