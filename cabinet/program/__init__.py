"""The program's terms as a manager edits them: drafts, validation, preview, publishing."""
