"""Publishing: the manifest and links documents, the review page, the commit step."""
