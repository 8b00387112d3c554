collect_ignore = ["nbval"]  # reference outputs for nbval, not tests themselves
