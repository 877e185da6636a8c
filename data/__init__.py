"""Images, labels, word vectors and datasets: everything that feeds the trainer."""
