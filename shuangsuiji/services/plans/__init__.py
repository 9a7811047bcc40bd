"""Plans (抽查任务): plans, commitments, draws, recurring batches, public plans."""
