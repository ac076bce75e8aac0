"""The article: its typesetting, its bibliography and the published results it compares with."""
