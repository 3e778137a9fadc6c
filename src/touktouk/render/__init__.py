"""The only place that runs ffmpeg: probe, runner, filter graph, loudness, clip and master renders, stills."""
