"""Results (一公开): results, public results, credit, deadlines, reminders, statistics."""
