"""Email: from a job event to a localized message, and on to the SMTP server.

Rendering half: `i18n` (locale negotiation, catalogs), `formatting` (babel), `render`
(templates to subject, text and HTML), `message` (`build_message`, the headers every email
carries) and `preview` (sample emails for `notifier preview`). Sending half: `sender`,
`addresses`, and `channel` (the email channel of notifier.delivery).
"""
