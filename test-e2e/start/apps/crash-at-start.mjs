// A broken deploy: it throws while loading, before any server exists.
throw new Error('database url missing: set DATABASE_URL');
