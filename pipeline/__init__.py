"""The pipeline core, without Prefect: sources, the extraction process pool, progress, and the steps and run
loop the flows adapt."""
