"""File and object-storage I/O: URIs, the storage adapter, manifests, images, the result cache and the Parquet sink."""
