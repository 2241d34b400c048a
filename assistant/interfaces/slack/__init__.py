"""The Slack bot (`assistant slack`): answers mentions and direct messages in their thread,
hands a thread to a human in an escalation channel, and logs thumbs up/down."""
