"""lifecircle: monitoring 15-minute convenient living circles (一刻钟便民生活圈).

The domain package imports no Airflow: DAG files in ``dags/`` only wire tasks to it.
"""
__version__ = "0.1.0"
