from annotator import create_app

app = create_app()
