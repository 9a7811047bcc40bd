"""marshmallow schemas: XIn / XOut / XQuery per resource. Shape only: no queries, no user."""
