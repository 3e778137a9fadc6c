"""Vision: shot changes, faces, and the crop that follows the speaker."""
