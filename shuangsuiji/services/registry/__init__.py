"""The registry (两库): entities, inspectors, matters and conflicts, their imports and exports."""
