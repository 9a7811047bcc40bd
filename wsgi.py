"""The one thing gunicorn imports: `gunicorn -c config/gunicorn.conf.py wsgi:app`."""

from shuangsuiji.app import create_app

app = create_app()
