"""Mail: SMTP delivery, a development mailer that logs, and an outbox that retries."""
