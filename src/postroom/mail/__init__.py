"""Protocol adapters: MIME, TLS, SMTP, IMAP, POP3, OAuth, diagnosis. No business rules here."""
