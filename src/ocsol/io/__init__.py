"""Readers and writers: read and validate files, hand over clean frames. No maths here."""
