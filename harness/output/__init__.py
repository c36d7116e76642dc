"""What a run leaves behind: failure text, transcripts, the HTML report, updated expectations, and
the secrets kept out of all of it."""
