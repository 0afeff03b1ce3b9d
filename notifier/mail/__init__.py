"""Email: from a job event to a localized message, and on to the SMTP server.

Rendering half: `i18n` (locale negotiation, catalogs), `formatting` (babel), `render`
(templates to subject, text and HTML; `files_so_far`: a running job's files and time
left), `style` (colours and fonts per language),
`plain_text` (widths and wrapping of the text part), `message` (`build_message`, the headers
every email carries; `encoded_words` for subjects), `digest` and `digest_summary` (the
digest email, in the same layouts and headers) and `preview` (sample emails for `notifier
preview` and the gallery). Sending half: `sender`, `addresses`, and `channel` (the email
channel of notifier.delivery).
"""
