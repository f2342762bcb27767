"""One router per resource: uploads (a new post), batches (a post's status), images, me (the caller),
moderation (the review calls)."""
