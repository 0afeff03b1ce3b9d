"""The gettext catalogs (notifier.pot, <lang>/LC_MESSAGES/notifier.po), shipped in the wheel as notifier.locales."""
