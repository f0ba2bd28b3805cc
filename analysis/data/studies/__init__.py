"""Which data a run uses: the registry of studies (demo, archive, custom) and the Wikipedia and
Wikimedia per-country studies, all giving one :class:`~analysis.data.studies.base.StudyData`."""
